# (module probe: sources are added here as it lands)
