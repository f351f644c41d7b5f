! SPDX-License-Identifier: MIT
!
! heat.f90 — a Fortran 2008 code that keeps its own main program and time
! loop, steered live through libsteerd (module steerd, sim-adapter/steerd.f90).
!
! The model: heat conduction along a rod of length 1 m, du/dt = alpha u_xx,
! explicit finite differences on 101 points, both ends held at temperatures
! (t_left, t_right) that clients may change while it runs. Steady state: a
! straight line between them.
!
!     build/examples/embed-fortran/heat -c examples/embed-fortran/heat.yaml \
!         --connection-file heat.json
!     build/bin/steer-console -C heat.json        # set t_left 500, checkpoint, ...
!     build/examples/embed-fortran/heat -c examples/embed-fortran/heat.yaml \
!         --connection-file heat.json --restart CHECKPOINT.h5
!
! Everything steerd needs is in the block marked "steerd" (about 20 lines):
! the variables are bound by address, so they carry the TARGET attribute.
program heat
   use, intrinsic :: iso_c_binding, only: c_double, c_int32_t, c_int64_t
   use steerd
   implicit none

   integer, parameter :: nx = 101, mid = (nx + 1) / 2
   real(c_double), parameter :: length = 1.0_c_double   ! m
   real(c_double), target :: u(nx), x(nx), t_mean
   ! Knobs: the values below are the defaults; the config's simulation.knobs may change them.
   real(c_double), target :: alpha = 1.0e-4_c_double    ! m^2/s
   real(c_double), target :: dt = 0.04_c_double         ! s; alpha*dt/dx^2 <= 0.4 in bounds
   real(c_double), target :: t_left = 400, t_right = 300, t_initial = 300   ! K
   integer(c_int32_t), target :: print_every = 0
   ! The clock: steerd reads it at every boundary and restores it with the state.
   integer(c_int64_t), target :: step = 0
   real(c_double), target :: time = 0
   type(steerd_descriptor) :: d
   type(steerd_handle) :: s
   integer :: i

   x = [((i - 1) * length / (nx - 1), i = 1, nx)]

   ! ---- steerd: describe the code's variables, open, step, close
   d = steerd_desc_new("heat1d", "1.0", "1D heat equation, explicit finite differences")
   call steerd_knob(d, "alpha", "m^2/s", 1.0e-6_c_double, 1.0e-3_c_double, .true., &
                    "thermal diffusivity", alpha)
   call steerd_knob(d, "dt", "s", 1.0e-4_c_double, 0.04_c_double, .false., "time step", dt)
   call steerd_knob(d, "t_left", "K", 0.0_c_double, 5000.0_c_double, .true., &
                    "temperature held at x = 0", t_left)
   call steerd_knob(d, "t_right", "K", 0.0_c_double, 5000.0_c_double, .true., &
                    "temperature held at x = 1 m", t_right)
   call steerd_knob(d, "t_initial", "K", 0.0_c_double, 5000.0_c_double, .false., &
                    "initial temperature of the rod", t_initial)
   call steerd_knob(d, "print_every", "", 0_c_int32_t, 1000000000_c_int32_t, .true., &
                    "print a line every this many steps; 0: never", print_every)
   call steerd_scalar(d, "t_mid", "K", "temperature at the middle of the rod", u(mid))
   call steerd_scalar(d, "t_mean", "K", "mean temperature of the rod", t_mean)
   call steerd_array(d, "x", "m", "position of each point", x)
   call steerd_array(d, "u", "K", "temperature along the rod", u, axis="x")
   call steerd_clock(d, step, time)
   call steerd_state(d, "u", u)
   call steerd_open(s, d)   ! -c, --connection-file, --restart, --log-level from the command line
   ! Fixed knobs (dt, t_initial) have their config values now; a restart
   ! restored u and the clock instead.
   if (step == 0) u = t_initial
   do
      t_mean = sum(u) / nx
      if (steerd_boundary(s) /= STEERD_GO) exit
      call advance()
      if (print_every > 0) then
         if (mod(step, int(print_every, c_int64_t)) == 0) &
            print '("step ", i0, "  t = ", es12.5, " s  t_mid = ", f10.4, " K")', step, time, u(mid)
      end if
   end do
   call steerd_close(s)
   call steerd_desc_destroy(d)
   ! ---- end of steerd

contains

   ! One explicit (FTCS) step, ends held at t_left and t_right.
   subroutine advance()
      real(c_double) :: r, un(nx)
      r = alpha * dt / (length / (nx - 1))**2
      u(1) = t_left
      u(nx) = t_right
      un = u
      u(2:nx - 1) = un(2:nx - 1) + r * (un(3:nx) - 2 * un(2:nx - 1) + un(1:nx - 2))
      step = step + 1
      time = time + dt
   end subroutine

end program heat
