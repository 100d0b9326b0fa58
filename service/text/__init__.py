"""What will be read: inputs to an Article, then to spoken blocks of sentences."""
