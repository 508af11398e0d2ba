"""The bundled demo: a dashboard notebook and the simulated workload that feeds it."""
