"""Route groups of the local Hub, one module per concern; see :mod:`gmm_hub.localhub._app`."""
