// Package watch follows source trees for watch mode: recursive inotify
// watches with a polling fallback, a quiet-period debounce, and change
// detection by content hash.
package watch
