// Command dtask runs a TOML task file of Docker build, test, publish and
// deploy targets, skipping what is up to date.
package main
