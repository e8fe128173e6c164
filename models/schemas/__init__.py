"""Event schemas as the registry holds them: JSON Schema from the pydantic models, per subject."""
