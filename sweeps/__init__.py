"""tasim's explorer: sweep specs, executors, results store, Pareto fronts, plots, reports and the CLI."""
