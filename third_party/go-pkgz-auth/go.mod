module github.com/go-pkgz/auth/v2

go 1.25.0

require (
	github.com/dghubble/oauth1 v0.7.3
	github.com/go-oauth2/oauth2/v4 v4.5.4
	github.com/go-pkgz/repeater/v2 v2.2.0
	github.com/go-pkgz/rest v1.24.0
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/rrivera/identicon v0.0.0-20240116195454-d5ba35832c0d
	golang.org/x/image v0.45.0
	golang.org/x/oauth2 v0.36.0
)

require (
	cloud.google.com/go/compute/metadata v0.9.0 // indirect
	golang.org/x/crypto v0.48.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)
