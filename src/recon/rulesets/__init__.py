"""Rule sets: named, versioned rule texts (rule language v1) of a project; validation and dry runs."""
