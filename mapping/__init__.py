"""The shared field schema, the admin-editable field mappings, and the pure
functions that translate, merge and diff contacts between systems."""
