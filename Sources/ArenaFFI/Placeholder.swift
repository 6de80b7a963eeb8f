/// Placeholder: the C ABI lands with issue 4.
public enum ArenaFFIPlaceholder {}
