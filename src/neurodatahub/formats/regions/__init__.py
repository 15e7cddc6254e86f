"""Region statistics tables (ExtractionResult) in every table format."""
