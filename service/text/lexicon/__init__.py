"""Pronunciation lexicons: rules that say names, brands and acronyms right.

``model`` reads and checks lexicons (JSON), ``pls`` reads and writes W3C PLS,
``matcher`` applies one to spoken text, ``marks`` carries phoneme rules to the
engines, and ``safety`` refuses regular expressions that could hang. Import
from the submodules: engine workers import ``marks`` alone, and stay light.
"""
