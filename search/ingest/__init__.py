"""Reading reports: files and formats, paragraphs and sections, cutting into passages, language tags, tokens, the corpus folder."""
