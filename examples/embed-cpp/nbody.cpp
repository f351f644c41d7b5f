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
// The class knows nothing of steerd. The block marked "steerd" at the end
// (about 30 lines) binds its members by address with the descriptor builder
// (steerd_desc_*): steerd reads and writes them only inside steerd_open(),
// steerd_boundary() and steerd_close(), between two steps, on this thread.
// No callback of the code's is involved, so no C++ exception can cross into
// C. A code that needs callbacks (computed diagnostics, state that is not
// plain arrays) writes an sa_adapter instead: see examples/oscillator.
#include <cmath>
#include <cstdio>
#include <vector>

#include "steerd.h"

class NBody {
public:
	static constexpr double G = 6.674e-11; // m^3 kg^-1 s^-2
	static constexpr double AU = 1.496e11; // m

	double dt = 86400.0;         // s
	double softening = 1.0e7;    // m
	double star_mass = 1.989e30; // kg
	int64_t steps = 0;
	double time = 0.0;
	std::vector<double> x, y, vx, vy, mass;
	// What the code measures after each step: kinetic, potential and total
	// energy (J), and each planet's distance from the star (m).
	double energy[3] = { 0, 0, 0 };
	std::vector<double> radius;

	explicit NBody(int planets)
	{
		add(0, 0, 0, 0, star_mass);
		for (int i = 1; i <= planets; i++) {
			double r = 0.4 * AU * i, v = std::sqrt(G * star_mass / r);
			add(r * std::cos(i), r * std::sin(i), -v * std::sin(i), v * std::cos(i), 1e24 * i);
		}
		radius.resize(planets);
		measure();
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
		measure();
	}

	void measure()
	{
		energy[0] = kinetic();
		energy[1] = potential();
		energy[2] = energy[0] + energy[1];
		for (size_t i = 1; i < x.size(); i++)
			radius[i - 1] = std::hypot(x[i] - x[0], y[i] - y[0]);
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

// ---- steerd: bind the object's members, then its own time loop
static steerd_desc *describe(NBody &b)
{
	steerd_desc *d = steerd_desc_new("nbody", "1.0", "a star and planets, leapfrog N-body");
	int rc = steerd_desc_knob_double(d, "dt", "s", 60, 864000, 1, "time step", &b.dt) |
	         steerd_desc_knob_double(d, "softening", "m", 0, 1e10, 1,
	                                 "gravitational softening length", &b.softening) |
	         steerd_desc_knob_double(d, "star_mass", "kg", 1e29, 1e32, 1,
	                                 "mass of the central star", &b.star_mass) |
	         steerd_desc_scalar(d, "kinetic", "J", "total kinetic energy", &b.energy[0]) |
	         steerd_desc_scalar(d, "potential", "J", "total gravitational potential energy",
	                            &b.energy[1]) |
	         steerd_desc_scalar(d, "energy", "J", "total energy (conserved up to the "
	                            "integrator's error)", &b.energy[2]) |
	         steerd_desc_array(d, "radius", "m", "each planet's distance from the star",
	                           b.radius.data(), b.radius.size(), nullptr, nullptr) |
	         steerd_desc_clock(d, &b.steps, &b.time);
	// The state a checkpoint keeps; the measurements too, so that a restored
	// run shows them before its next step. The vectors never grow: their
	// addresses stay valid.
	const char *names[] = { "x", "y", "vx", "vy", "mass", "radius" };
	std::vector<double> *arrays[] = { &b.x, &b.y, &b.vx, &b.vy, &b.mass, &b.radius };
	for (size_t a = 0; a < 6; a++)
		rc |= steerd_desc_state_f64(d, names[a], arrays[a]->data(), arrays[a]->size(), nullptr);
	rc |= steerd_desc_state_f64(d, "energy", b.energy, 3, nullptr);
	if (rc || !steerd_desc_adapter(d))
		steerd_desc_destroy(&d); // steerd_last_error() says why
	return d;
}

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
	steerd_desc *d = describe(bodies);
	steerd *s = d ? steerd_open(steerd_desc_adapter(d), d, &o, err, sizeof err) : nullptr;
	if (!s) {
		std::fprintf(stderr, "nbody: %s\n", d ? err : steerd_last_error());
		steerd_desc_destroy(&d);
		return 1;
	}
	while (steerd_boundary(s) == STEERD_GO)
		bodies.step();
	int rc = steerd_close(&s);
	steerd_desc_destroy(&d);
	return rc == 0 ? 0 : 1;
}
// ---- end of steerd
