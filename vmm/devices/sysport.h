/* SPDX-License-Identifier: MIT */
/*
 * Two small system ports: System Control Port A at 0x92 (bit 0 fast reset, bit 1 fast A20) and
 * the POST-code port 0x80, which the guest also writes as an I/O delay (kept, never acted on).
 */
#ifndef VMM_DEVICES_SYSPORT_H
#define VMM_DEVICES_SYSPORT_H

#include <stdbool.h>
#include <stdint.h>

struct iobus;

#define SYSPORT_A 0x92
#define SYSPORT_POST 0x80
#define SYSPORT_A_RESET 0x01
#define SYSPORT_A_A20 0x02

struct sysport {
	uint8_t port_a;
	uint8_t post_code;
	uint64_t post_writes;
	void (*reset)(void *arg);	 /* bit 0 of port 0x92 went from 0 to 1 */
	void (*a20)(void *arg, bool on); /* bit 1 changed (may be NULL) */
	void *arg;
};

void sysport_init(struct sysport *s, void (*reset)(void *arg), void (*a20)(void *arg, bool on),
		  void *arg);
bool sysport_attach(struct sysport *s, struct iobus *bus);
uint8_t sysport_io_read(struct sysport *s, uint16_t port);
void sysport_io_write(struct sysport *s, uint16_t port, uint8_t value);

#endif
