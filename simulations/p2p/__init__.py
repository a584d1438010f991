"""The peer-to-peer EV energy trading case study (`cbp simulate p2p`)."""
