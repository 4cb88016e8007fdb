package node

// SecurityOptions lets benchmarks build raw go-libp2p baselines on the
// same connection security as a node's.
var SecurityOptions = securityOptions
