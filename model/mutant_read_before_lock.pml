/*
 * Mutant: a tab reads the token it presents before it takes the cross-tab lock (its copy in
 * memory, not storage re-read under the lock).
 * expect: honest
 */
#define MUTANT_READ_EARLY
#include "session.pml"
