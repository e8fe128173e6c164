"""The development harness: embedded broker, deployments of workers, load, verifier, chaos, demo."""
