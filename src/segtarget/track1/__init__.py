"""Track 1, who are our customers? NMF factors, K-means segments, stability, profiles, figures."""
