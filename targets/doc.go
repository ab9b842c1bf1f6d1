// Package targets is what every kind of target shares: Env (the Docker
// connection, labels, secrets, the kinds registry), the clean-up of what a
// run creates, the typed outputs of each action, and the one place that
// decides how an image gets into the engine. Each kind is implemented in
// its own package (shell, build, run, push, deploy), listed by targets/kinds.
package targets
