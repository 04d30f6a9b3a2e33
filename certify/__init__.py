"""Certificates: confidence bounds, policy-smoothing reward certificates, bound propagation, Lipschitz bounds."""

__all__: list[str] = []
