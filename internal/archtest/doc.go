// Package archtest holds the tests of Monobase's import rules (see
// docs/architecture.md): packages below the GraphQL engine (db, access,
// auth, files, subscriptions, ratelimit, apperr, backup, metrics) must not
// depend on gqlgen or gqlparser, and the transports (transport) must depend
// on nothing of the engine or below it. It has no code of its own.
package archtest
