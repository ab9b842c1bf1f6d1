// Package cache computes target keys, keeps the stat index of source file hashes, expands source globs and stores success records under .dtask/.
package cache
