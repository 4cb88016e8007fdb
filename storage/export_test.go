package storage

// OpenPlaintext opens a store written unencrypted and uncompressed, for
// tests that search its raw files (Options.plaintext).
func OpenPlaintext(opts Options) (*DB, error) {
	opts.plaintext = true
	return Open(opts)
}

// OpenWithoutSearchIndex opens a store that writes no search index: the
// baseline of the indexing benchmarks.
func OpenWithoutSearchIndex(opts Options) (*DB, error) {
	opts.noSearchIndex = true
	return Open(opts)
}
