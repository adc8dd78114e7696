"""istiod: xDS sync status (/debug/syncz), pilot metrics and push status from every replica."""
