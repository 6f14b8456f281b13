"""Code shared by the apps: components, layout, database, security, text.

Framework code never imports an app (diagnostic SPC008): apps reach each
other through components, the registry and the bus.
"""
