// Users write one import: `import ArenaBytes` brings the arena along.
@_exported public import Arena
