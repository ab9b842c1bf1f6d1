// Package transfer says how a move of image data (a pull, a push, a copy
// between engines) reads: progress with bytes, rate and time left while
// it runs, and the one summary line every output gets when it ends.
package transfer
