// Package ddbnonce is the DynamoDB NonceStore of package onboard: it makes each OAuth state
// single-use across every Lambda instance behind the Function URL. Consuming a nonce is one
// conditional PutItem on the state table (pk "oauth-state#<nonce>", sk "nonce"), which fails
// when the item exists; the table's TTL removes the item after the state has expired, since an
// expired state is refused before the store is asked.
package ddbnonce
