// SPDX-License-Identifier: MIT
//
// nbody.cpp — a C++ code with its own class, main() and time loop, steered
// live through libsteerd (sim-adapter/steerd.h).
//
// The model: a star and eight planets in a plane, every body pulling every
// other (Newton, softened), integrated with kick-drift-kick leapfrog. Clients
// may change the time step, the softening length and the star's mass while
// it runs; the total energy shows how well the integrator keeps it.
//
//     build/examples/embed-cpp/nbody -c examples/embed-cpp/nbody.yaml --connection-file nbody.json
//     build/bin/steer-console -C nbody.json       # set star_mass 3e30, checkpoint, ...
//     build/examples/embed-cpp/nbody -c ... --restart CHECKPOINT.h5
//
// The code's class knows nothing of steerd. Below it, the block marked
// "steerd" describes it with a descriptor (sa_adapter) whose static
// functions call into the object: no exception may cross into C, so each
// one that can throw catches everything and returns -1 with a message.
#include <cmath>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "steerd.h"

class NBody {
public:
	static constexpr double G = 6.674e-11; // m^3 kg^-1 s^-2
	static constexpr double AU = 1.496e11; // m

	double dt = 86400.0;         // s
	double softening = 1.0e7;    // m
	double star_mass = 1.989e30; // kg
	uint64_t steps = 0;
	double time = 0.0;
	std::vector<double> x, y, vx, vy, mass;

	explicit NBody(int planets)
	{
		add(0, 0, 0, 0, star_mass);
		for (int i = 1; i <= planets; i++) {
			double r = 0.4 * AU * i, v = std::sqrt(G * star_mass / r);
			add(r * std::cos(i), r * std::sin(i), -v * std::sin(i), v * std::cos(i), 1e24 * i);
		}
	}

	void step()
	{
		mass[0] = star_mass;
		kick(0.5 * dt);
		for (size_t i = 0; i < x.size(); i++) {
			x[i] += dt * vx[i];
			y[i] += dt * vy[i];
		}
		kick(0.5 * dt);
		steps++;
		time += dt;
	}

	double kinetic() const
	{
		double e = 0;
		for (size_t i = 0; i < x.size(); i++)
			e += 0.5 * mass[i] * (vx[i] * vx[i] + vy[i] * vy[i]);
		return e;
	}

	double potential() const
	{
		double e = 0;
		for (size_t i = 0; i < x.size(); i++)
			for (size_t j = i + 1; j < x.size(); j++)
				e -= G * mass[i] * mass[j] / distance(i, j);
		return e;
	}

	double distance(size_t i, size_t j) const
	{
		double dx = x[j] - x[i], dy = y[j] - y[i];
		return std::sqrt(dx * dx + dy * dy + softening * softening);
	}

private:
	void add(double px, double py, double pvx, double pvy, double m)
	{
		x.push_back(px);
		y.push_back(py);
		vx.push_back(pvx);
		vy.push_back(pvy);
		mass.push_back(m);
	}

	void kick(double h)
	{
		for (size_t i = 0; i < x.size(); i++)
			for (size_t j = 0; j < x.size(); j++) {
				if (i == j)
					continue;
				double r = distance(i, j), a = G * mass[j] / (r * r * r);
				vx[i] += h * a * (x[j] - x[i]);
				vy[i] += h * a * (y[j] - y[i]);
			}
	}
};

// ---- steerd: the descriptor of NBody, and main()
namespace steer {

NBody &self(void *sim) { return *static_cast<NBody *>(sim); }
const NBody &self(const void *sim) { return *static_cast<const NBody *>(sim); }

// Knob k's variable in the object: the three knobs are doubles.
double NBody::*const knob_var[] = { &NBody::dt, &NBody::softening, &NBody::star_mass };
const sa_knob knobs[] = {
	{ "dt", SA_DOUBLE, "s", 60, 864000, { .d = 86400 }, "time step", 1, nullptr },
	{ "softening", SA_DOUBLE, "m", 0, 1e10, { .d = 1e7 }, "gravitational softening length", 1, nullptr },
	{ "star_mass", SA_DOUBLE, "kg", 1e29, 1e32, { .d = 1.989e30 }, "mass of the central star", 1, nullptr },
};
const sa_diag diags[] = {
	{ "kinetic", "J", "total kinetic energy", 0, nullptr },
	{ "potential", "J", "total gravitational potential energy", 0, nullptr },
	{ "energy", "J", "total energy (conserved up to the integrator's error)", 0, nullptr },
	{ "radius", "m", "each planet's distance from the star", 1, nullptr },
};
// What save() writes and restore() reads: the bodies, by name.
std::vector<double> NBody::*const arrays[] = { &NBody::x, &NBody::y, &NBody::vx, &NBody::vy, &NBody::mass };
const char *const array_names[] = { "x", "y", "vx", "vy", "mass" };

// Run f; an exception becomes -1 and its message (none may cross into C).
template <class F> int guarded(char *err, size_t errlen, F f)
{
	try {
		f();
		return 0;
	} catch (const std::exception &e) {
		std::snprintf(err, errlen, "%s", e.what());
	} catch (...) {
		std::snprintf(err, errlen, "unknown C++ exception");
	}
	return -1;
}

size_t diag_len(const void *sim, size_t d) { return d == 3 ? self(sim).x.size() - 1 : 1; }

size_t diag_read(const void *sim, size_t d, double *out, size_t cap)
{
	const NBody &b = self(sim);
	if (d == 0 || d == 1 || d == 2) {
		out[0] = d == 0 ? b.kinetic() : d == 1 ? b.potential() : b.kinetic() + b.potential();
		return 1;
	}
	size_t n = 0;
	for (size_t i = 1; i < b.x.size() && n < cap; i++)
		out[n++] = std::hypot(b.x[i] - b.x[0], b.y[i] - b.y[0]);
	return n;
}

// The three scalars at once (ABI 2.1): the O(N^2) potential is summed once a boundary.
int read_scalars(const void *sim, double *out, size_t n)
{
	double k = self(sim).kinetic(), p = self(sim).potential(), all[3] = { k, p, k + p };
	for (size_t i = 0; i < n && i < 3; i++)
		out[i] = all[i];
	return 0;
}

int save(const void *sim, const sa_writer *w, char *err, size_t errlen)
{
	const NBody &b = self(sim);
	int rc = w->attr(w->ctx, "steps", SA_U64, &b.steps) | w->attr(w->ctx, "time", SA_F64, &b.time);
	for (size_t k = 0; k < 3; k++)
		rc |= w->attr(w->ctx, knobs[k].name, SA_F64, &(b.*knob_var[k]));
	for (size_t a = 0; a < 5; a++)
		rc |= w->array(w->ctx, array_names[a], SA_F64, (b.*arrays[a]).size(), (b.*arrays[a]).data());
	if (rc)
		std::snprintf(err, errlen, "cannot write the bodies");
	return rc ? -1 : 0;
}

// Everything is read into a copy first: the object changes only if all is well.
int restore(void *sim, const sa_reader *r, char *err, size_t errlen)
{
	return guarded(err, errlen, [&] {
		NBody b = self(sim);
		if (r->attr(r->ctx, "steps", SA_U64, &b.steps) || r->attr(r->ctx, "time", SA_F64, &b.time))
			throw std::runtime_error("the saved clock is missing");
		for (size_t k = 0; k < 3; k++)
			if (r->attr(r->ctx, knobs[k].name, SA_F64, &(b.*knob_var[k])) ||
			    !(b.*knob_var[k] >= knobs[k].min && b.*knob_var[k] <= knobs[k].max))
				throw std::runtime_error(std::string("saved knob missing or out of range: ") + knobs[k].name);
		for (size_t a = 0; a < 5; a++) {
			size_t n;
			if (r->array_size(r->ctx, array_names[a], SA_F64, &n) || n != b.x.size() ||
			    r->array(r->ctx, array_names[a], SA_F64, n, (b.*arrays[a]).data()))
				throw std::runtime_error(std::string("saved array missing or of another size: ") + array_names[a]);
		}
		self(sim) = std::move(b);
	});
}

const sa_adapter descriptor = {
	SA_ABI_INIT, .flags = 0, .name = "nbody", .version = "1.0",
	.description = "a star and planets, leapfrog N-body",
	.knobs = knobs, .n_knobs = 3, .diags = diags, .n_diags = 4,
	.create = nullptr, .destroy = nullptr, .step = nullptr,
	.step_count = [](const void *sim) { return self(sim).steps; },
	.time = [](const void *sim) { return self(sim).time; },
	.get = [](const void *sim, size_t k) { return sa_value{ .d = self(sim).*knob_var[k] }; },
	.set = [](void *sim, size_t k, sa_value v, char *, size_t) { self(sim).*knob_var[k] = v.d; return 0; },
	.diag_len = diag_len, .diag_read = diag_read, .save = save, .restore = restore,
	.records = nullptr, .n_records = 0, .read_scalars = read_scalars,
};

} // namespace steer

int main(int argc, char **argv)
{
	NBody bodies(8);
	char err[512];
	steerd_options o = STEERD_OPTIONS_INIT;
	o.handle_signals = 1; // Ctrl-C: stop at the next step, write the on_exit checkpoint
	if (steerd_options_from_args(&o, &argc, argv, err, sizeof err) < 0) {
		std::fprintf(stderr, "nbody: %s\n", err);
		return 64;
	}
	steerd *s = steerd_open(&steer::descriptor, &bodies, &o, err, sizeof err);
	if (!s) {
		std::fprintf(stderr, "nbody: %s\n", err);
		return 1;
	}
	while (steerd_boundary(s) == STEERD_GO)
		bodies.step();
	return steerd_close(&s) == 0 ? 0 : 1;
}
// ---- end of steerd
