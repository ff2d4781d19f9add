/* SPDX-License-Identifier: MIT */
/* The 16550A UART (National Semiconductor PC16550D datasheet). */
#include "uart16550.h"

#include "../iobus.h"

#define UART_CLOCK_HZ 1843200ull
#define NS_PER_S 1000000000ull

static bool fifo_on(const struct uart *u)
{
	return u->fcr & UART_FCR_ENABLE;
}

/* Without FIFOs the receiver buffer holds one character (16450 mode). */
static unsigned rx_capacity(const struct uart *u)
{
	return fifo_on(u) ? UART_FIFO_SIZE : 1;
}

static unsigned rx_trigger(const struct uart *u)
{
	static const uint8_t level[4] = { 1, 4, 8, 14 };
	return fifo_on(u) ? level[u->fcr >> 6] : 1;
}

/* Four character times at the programmed divisor and frame: the FIFO timeout (datasheet). */
static uint64_t timeout_ns(const struct uart *u)
{
	uint64_t divisor = (uint64_t)(u->dll | u->dlm << 8);
	if (divisor == 0) {
		divisor = 0x10000;
	}
	uint64_t bits = 1 + 5 + (u->lcr & 3) + (u->lcr & 0x08 ? 1 : 0) + (u->lcr & 0x04 ? 2 : 1);
	return 4 * bits * divisor * 16 * NS_PER_S / UART_CLOCK_HZ;
}

static uint64_t now(const struct uart *u)
{
	return u->clock_ns ? u->clock_ns(u->arg) : 0;
}

/* Modem inputs: looped back from MCR in loopback mode, else a console that is always there. */
static uint8_t modem_inputs(const struct uart *u)
{
	if (!(u->mcr & UART_MCR_LOOP)) {
		return UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD;
	}
	return (uint8_t)((u->mcr & UART_MCR_RTS ? UART_MSR_CTS : 0) |
			 (u->mcr & UART_MCR_DTR ? UART_MSR_DSR : 0) |
			 (u->mcr & UART_MCR_OUT1 ? UART_MSR_RI : 0) |
			 (u->mcr & UART_MCR_OUT2 ? UART_MSR_DCD : 0));
}

static void update_msr(struct uart *u)
{
	uint8_t old = u->msr & 0xf0, new = modem_inputs(u), changed = old ^ new;
	uint8_t delta = (uint8_t)((changed & UART_MSR_CTS ? UART_MSR_DCTS : 0) |
				  (changed & UART_MSR_DSR ? UART_MSR_DDSR : 0) |
				  (changed & UART_MSR_DCD ? UART_MSR_DDCD : 0) |
				  /* TERI: only the trailing (high-to-low) edge of RI */
				  ((old & UART_MSR_RI) && !(new &UART_MSR_RI) ? UART_MSR_TERI : 0));
	u->msr = (uint8_t)(new | (u->msr & 0x0f) | delta);
}

uint8_t uart_iir(const struct uart *u)
{
	uint8_t id = UART_IIR_NONE;
	/* Priority order of the datasheet's interrupt control table. */
	if ((u->ier & UART_IER_RLSI) && (u->lsr & 0x1e)) {
		id = UART_IIR_RLSI;
	} else if ((u->ier & UART_IER_RDI) && u->rx_count >= rx_trigger(u)) {
		id = UART_IIR_RDI;
	} else if ((u->ier & UART_IER_RDI) && u->rx_count && u->timeout_pending) {
		id = UART_IIR_TIMEOUT;
	} else if ((u->ier & UART_IER_THRI) && u->thre_pending) {
		id = UART_IIR_THRI;
	} else if ((u->ier & UART_IER_MSI) && (u->msr & 0x0f)) {
		id = UART_IIR_MSI;
	}
	return (uint8_t)(id | (fifo_on(u) ? UART_IIR_FIFO : 0));
}

static void update_irq(struct uart *u)
{
	bool level = !(uart_iir(u) & UART_IIR_NONE);
	if (level != u->irq_level) {
		u->irq_level = level;
		if (u->irq) {
			irqchip_set(u->irq, u->irq_line, level);
		}
	}
}

static void check_timeout(struct uart *u)
{
	if (fifo_on(u) && u->rx_count && now(u) >= u->rx_deadline) {
		u->timeout_pending = true;
	}
}

static void rx_clear(struct uart *u)
{
	u->rx_head = u->rx_count = 0;
	u->lsr &= (uint8_t)~UART_LSR_DR;
	u->timeout_pending = false;
}

static bool rx_push(struct uart *u, uint8_t byte)
{
	bool stored = true;
	if (u->rx_count == rx_capacity(u)) {
		/* Overrun: FIFO mode loses the new character, 16450 mode the unread old one. */
		u->lsr |= UART_LSR_OE;
		u->overruns++;
		stored = false;
		if (!fifo_on(u)) {
			u->rx[u->rx_head] = byte;
		}
	} else {
		u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
		u->rx_count++;
	}
	u->lsr |= UART_LSR_DR;
	u->rx_deadline = now(u) + timeout_ns(u);
	return stored;
}

static uint8_t rx_pop(struct uart *u)
{
	if (u->rx_count) {
		u->rbr = u->rx[u->rx_head];
		u->rx_head = (uint8_t)((u->rx_head + 1) % UART_FIFO_SIZE);
		u->rx_count--;
		u->rx_reads++;
	}
	if (!u->rx_count) {
		u->lsr &= (uint8_t)~UART_LSR_DR;
	}
	/* Reading a character clears the timeout indication and restarts its timer. */
	u->timeout_pending = false;
	u->rx_deadline = now(u) + timeout_ns(u);
	return u->rbr;
}

static void transmit(struct uart *u, uint8_t byte)
{
	if (u->mcr & UART_MCR_LOOP) {
		rx_push(u, byte); /* loopback: the transmitter output feeds the receiver */
	} else if (u->output) {
		u->output(u->arg, byte);
	}
	/* The character left at once: THR and shift register are empty again. */
	u->lsr |= UART_LSR_THRE | UART_LSR_TEMT;
	u->thre_pending = true;
}

static void write_fcr(struct uart *u, uint8_t v)
{
	if ((v ^ u->fcr) & UART_FCR_ENABLE) {
		rx_clear(u); /* changing the FIFO enable clears both FIFOs */
	}
	if (v & UART_FCR_CLEAR_RX) {
		rx_clear(u);
	}
	/* The transmitter FIFO is always empty here, so CLEAR_TX has nothing to do. */
	u->fcr = v & UART_FCR_ENABLE ? (uint8_t)(v & 0xc9) : 0;
}

static void write_ier(struct uart *u, uint8_t v)
{
	uint8_t old = u->ier;
	u->ier = v & 0x0f;
	/* Enabling ETBEI while THR is empty raises the THRE interrupt at once. */
	if ((u->ier & ~old & UART_IER_THRI) && (u->lsr & UART_LSR_THRE)) {
		u->thre_pending = true;
	}
}

uint8_t uart_io_read(struct uart *u, unsigned offset)
{
	uint8_t v = 0xff;
	bool dlab = u->lcr & UART_LCR_DLAB;
	check_timeout(u);
	switch (offset) {
	case UART_RBR:
		v = dlab ? u->dll : rx_pop(u);
		break;
	case UART_IER:
		v = dlab ? u->dlm : u->ier;
		break;
	case UART_IIR:
		v = uart_iir(u);
		if ((v & 0x0f) == UART_IIR_THRI) {
			u->thre_pending = false; /* reading IIR with THRE as the source clears it */
		}
		break;
	case UART_LCR:
		v = u->lcr;
		break;
	case UART_MCR:
		v = u->mcr;
		break;
	case UART_LSR:
		v = u->lsr;
		u->lsr &= (uint8_t)~0x1e; /* OE, PE, FE, BI clear on read */
		break;
	case UART_MSR:
		v = u->msr;
		u->msr &= 0xf0; /* the delta bits clear on read */
		break;
	case UART_SCR:
		v = u->scr;
		break;
	default:
		break;
	}
	update_irq(u);
	return v;
}

void uart_io_write(struct uart *u, unsigned offset, uint8_t value)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	check_timeout(u);
	switch (offset) {
	case UART_RBR:
		if (dlab) {
			u->dll = value;
		} else {
			u->thre_pending =
				false; /* writing THR clears THRE, the transmit sets it again */
			transmit(u, value);
		}
		break;
	case UART_IER:
		if (dlab) {
			u->dlm = value;
		} else {
			write_ier(u, value);
		}
		break;
	case UART_IIR:
		write_fcr(u, value);
		break;
	case UART_LCR:
		u->lcr = value;
		break;
	case UART_MCR:
		u->mcr = value & 0x1f;
		update_msr(u);
		break;
	case UART_SCR:
		u->scr = value;
		break;
	default: /* LSR and MSR are read-only (the LSR's factory test write is not modelled) */
		break;
	}
	update_irq(u);
}

bool uart_receive(struct uart *u, uint8_t byte)
{
	if (u->mcr & UART_MCR_LOOP) {
		return false; /* loopback disconnects the serial input */
	}
	check_timeout(u);
	bool stored = rx_push(u, byte);
	update_irq(u);
	return stored;
}

unsigned uart_rx_room(const struct uart *u)
{
	return rx_capacity(u) - u->rx_count;
}

void uart_update(struct uart *u)
{
	check_timeout(u);
	update_irq(u);
}

uint64_t uart_next_event_ns(const struct uart *u)
{
	if (fifo_on(u) && u->rx_count && !u->timeout_pending) {
		return u->rx_deadline;
	}
	return UART_NEVER;
}

void uart_init(struct uart *u, const struct irqchip *irq, unsigned irq_line,
	       void (*output)(void *arg, uint8_t byte), uint64_t (*clock_ns)(void *arg), void *arg)
{
	*u = (struct uart){ .irq = irq,
			    .irq_line = irq_line,
			    .output = output,
			    .clock_ns = clock_ns,
			    .arg = arg,
			    .dll = 12, /* 9600 baud until the guest programs a divisor */
			    .lsr = UART_LSR_THRE | UART_LSR_TEMT };
	u->msr = modem_inputs(u);
}

/* Wider accesses reach consecutive registers, as on the byte-wide ISA bus. */
static uint64_t uart_bus_read(void *dev, uint64_t off, unsigned size)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++) {
		v |= (uint64_t)uart_io_read(dev, (unsigned)off + i) << (8 * i);
	}
	return v;
}

static void uart_bus_write(void *dev, uint64_t off, unsigned size, uint64_t v)
{
	for (unsigned i = 0; i < size; i++) {
		uart_io_write(dev, (unsigned)off + i, (uint8_t)(v >> (8 * i)));
	}
}

static const struct iobus_ops uart_ops = { .read = uart_bus_read, .write = uart_bus_write };

bool uart_attach(struct uart *u, struct iobus *bus, uint16_t base)
{
	return iobus_register(bus, IOBUS_PIO, base, 8, &uart_ops, u) == IOBUS_OK;
}
