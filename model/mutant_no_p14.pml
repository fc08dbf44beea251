/*
 * Mutant: a bound family's previous token with the key gets the successor only inside the grace window (no P14), so a tab closed mid-refresh signs the device out.
 * expect: honest
 */
#define MUTANT_NO_P14
#include "session.pml"
