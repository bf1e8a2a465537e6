# (module nn: sources are added here as it lands)
