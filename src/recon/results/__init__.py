"""Results of a run: match groups with their members, unmatched items, single items; filtered keyset lists."""
