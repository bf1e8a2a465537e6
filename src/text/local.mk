# (module text: sources are added here as it lands)
