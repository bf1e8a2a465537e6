# (module ngram: sources are added here as it lands)
