/// Placeholder: the arena-stats library lands with issue 6.
public enum ArenaStatsKitPlaceholder {}
