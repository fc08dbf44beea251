/*
 * Mutant: the rotation ignores revocation for the current token.
 * expect: revoked_final
 */
#define MUTANT_REVOKED_ROTATES
#include "session.pml"
