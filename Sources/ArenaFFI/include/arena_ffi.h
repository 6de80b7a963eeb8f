/* The C ABI of ArenaFFI: lands with issue 4. */
