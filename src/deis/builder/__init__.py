"""The builder: git over SSH and smart HTTP, and the build pipeline behind them.

`deis.builder.server.Builder` is what the platform starts; its `http_app` is the smart
HTTP transport as an ASGI application, mounted on the controller for `/APP.git/...`.
"""
