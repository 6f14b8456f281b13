"""Code shared by the apps: layout, database, login, event names, text.

Framework code never imports an app (diagnostic SPC008): apps reach each
other through components, the registry and the bus.
"""
