// Package vars interpolates ${NAME} references, resolves them through the layered variable scope docs/taskfile.md describes, and provides the built-in GIT_*/CI variables read cheaply from .git and the CI provider's environment.
package vars
