/* SPDX-License-Identifier: MIT */
/* pic1d.h — the built-in 1D electrostatic PIC planar diode adapter. */
#ifndef STEERD_PIC1D_H
#define STEERD_PIC1D_H

#include "../steerd_adapter.h"

/* The descriptor of the built-in "pic1d" adapter. */
const sa_adapter *pic1d_adapter(void);

#endif
