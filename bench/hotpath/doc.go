// Package hotpath holds only benchmarks (`make bench`): the agent's frame decoding and
// debouncing and the wire contract's encoding and strict validation, measured through
// their public APIs so that no product package has to carry them.
package hotpath
