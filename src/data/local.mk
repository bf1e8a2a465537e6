# (module data: sources are added here as it lands)
