// Package deploy implements deploy targets: the image copied to the
// deploy engine (local, ssh:// or tcp://), the container replaced, its
// readiness checked.
package deploy
