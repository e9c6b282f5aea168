/* What cpl0_traps.S and cpl0_instructions.c share: the vector `int n` is tested with. */
#ifndef CPL0_TRAPS_H
#define CPL0_TRAPS_H

#define INT_N_VECTOR 0x80

#endif
