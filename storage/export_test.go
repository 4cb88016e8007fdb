package storage

// OpenPlaintext opens a store written unencrypted and uncompressed, for
// tests that search its raw files (Options.Plaintext).
func OpenPlaintext(opts Options) (*DB, error) {
	opts.Plaintext = true
	return Open(opts)
}

// OpenWithoutSearchIndex opens a store that writes no search index: the
// baseline of the indexing benchmarks.
func OpenWithoutSearchIndex(opts Options) (*DB, error) {
	opts.noSearchIndex = true
	return Open(opts)
}
