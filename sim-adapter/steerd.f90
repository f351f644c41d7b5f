! SPDX-License-Identifier: MIT — libsteerd for Fortran 2008 (ISO_C_BINDING); copy it into any code.
!
! steerd.f90 — steer a Fortran code that keeps its own main program and time
! loop. Compile this file with your own compiler (a .mod file is specific to
! one compiler version) and link libsteerd:
!
!     gfortran -c steerd.f90
!     gfortran my_code.f90 steerd.o $(pkg-config --libs steerd)
!
! The calls are those of steerd.h (read it for what each promises), with
! Fortran strings (the trailing c_null_char is added here) and variables bound
! by address:
!
!     use steerd
!     real(c_double), target :: alpha = 1d-5, u(101)
!     integer(c_int64_t), target :: step = 0
!     real(c_double), target :: time = 0
!     type(steerd_descriptor) :: d
!     type(steerd_handle) :: s
!     d = steerd_desc_new("heat", "1.0", "1D heat equation")
!     call steerd_knob(d, "alpha", "m^2/s", 1d-6, 1d-4, .true., "diffusivity", alpha)
!     call steerd_array(d, "u", "K", "temperature", u)
!     call steerd_clock(d, step, time)
!     call steerd_state(d, "u", u)
!     call steerd_open(s, d)          ! -c, --connection-file, --restart from the command line
!     do while (steerd_boundary(s) == STEERD_GO)
!        call my_step(); step = step + 1; time = time + dt
!     end do
!     call steerd_close(s)
!     call steerd_desc_destroy(d)
!
! Bound variables must have the TARGET attribute (or be module variables
! with TARGET), stay allocated and not move until steerd_close: steerd reads
! and writes them inside steerd_open, steerd_boundary and steerd_close, on the
! thread that calls them (with OpenMP: outside parallel regions; with MPI:
! MPI_THREAD_FUNNELED suffices).
!
! Errors: every subroutine takes an optional stat (0 or -1) and errmsg; without
! stat a failure prints the message to error_unit and stops the program
! (error stop), like an ALLOCATE without stat=.
module steerd
   use, intrinsic :: iso_c_binding
   use, intrinsic :: iso_fortran_env, only: error_unit
   implicit none
   private

   integer(c_int), parameter, public :: STEERD_GO = 1, STEERD_STOP = 0, STEERD_ERROR = -1
   integer(c_int), parameter, public :: SA_LOG_ERROR = 0, SA_LOG_WARN = 1, SA_LOG_INFO = 2, &
                                        SA_LOG_DEBUG = 3

   type, public :: steerd_descriptor
      type(c_ptr) :: p = c_null_ptr
   end type
   type, public :: steerd_handle
      type(c_ptr) :: p = c_null_ptr
   end type

   public :: steerd_desc_new, steerd_knob, steerd_scalar, steerd_array, steerd_clock, &
             steerd_state, steerd_desc_destroy, steerd_open, steerd_boundary, steerd_close, &
             steerd_step_failed, steerd_request_stop, steerd_log, steerd_last_error, &
             steerd_version

   interface steerd_knob
      module procedure knob_double, knob_int32, knob_int64
   end interface
   interface steerd_state
      module procedure state_f64, state_i64
   end interface

   ! One command-line argument, NUL-terminated, for steerd_options_from_args.
   type :: c_arg
      character(kind=c_char, len=:), allocatable :: s
   end type

   ! steerd_options of steerd.h, field for field.
   type, bind(c) :: c_options
      integer(c_size_t) :: size
      type(c_ptr) :: config_path, config_text, connection_file, restart
      integer(c_int) :: handle_signals, log_level
   end type

   interface
      function c_desc_new(name, version, description) bind(c, name="steerd_desc_new")
         import
         character(kind=c_char), intent(in) :: name(*), version(*), description(*)
         type(c_ptr) :: c_desc_new
      end function
      integer(c_int) function c_knob_double(d, name, unit, min, max, runtime, description, var) &
            bind(c, name="steerd_desc_knob_double")
         import
         type(c_ptr), value :: d, var
         character(kind=c_char), intent(in) :: name(*), unit(*), description(*)
         real(c_double), value :: min, max
         integer(c_int), value :: runtime
      end function
      integer(c_int) function c_knob_int32(d, name, unit, min, max, runtime, description, var) &
            bind(c, name="steerd_desc_knob_int32")
         import
         type(c_ptr), value :: d, var
         character(kind=c_char), intent(in) :: name(*), unit(*), description(*)
         integer(c_int32_t), value :: min, max
         integer(c_int), value :: runtime
      end function
      integer(c_int) function c_knob_int64(d, name, unit, min, max, runtime, description, var) &
            bind(c, name="steerd_desc_knob_int64")
         import
         type(c_ptr), value :: d, var
         character(kind=c_char), intent(in) :: name(*), unit(*), description(*)
         integer(c_int64_t), value :: min, max
         integer(c_int), value :: runtime
      end function
      integer(c_int) function c_scalar(d, name, unit, description, var) &
            bind(c, name="steerd_desc_scalar")
         import
         type(c_ptr), value :: d, var
         character(kind=c_char), intent(in) :: name(*), unit(*), description(*)
      end function
      integer(c_int) function c_array(d, name, unit, description, data, len, n, axis) &
            bind(c, name="steerd_desc_array")
         import
         type(c_ptr), value :: d, data, n, axis
         character(kind=c_char), intent(in) :: name(*), unit(*), description(*)
         integer(c_size_t), value :: len
      end function
      integer(c_int) function c_clock(d, step, time) bind(c, name="steerd_desc_clock")
         import
         type(c_ptr), value :: d, step, time
      end function
      integer(c_int) function c_state_f64(d, name, data, len, n) bind(c, name="steerd_desc_state_f64")
         import
         type(c_ptr), value :: d, data, n
         character(kind=c_char), intent(in) :: name(*)
         integer(c_size_t), value :: len
      end function
      integer(c_int) function c_state_i64(d, name, data, len, n) bind(c, name="steerd_desc_state_i64")
         import
         type(c_ptr), value :: d, data, n
         character(kind=c_char), intent(in) :: name(*)
         integer(c_size_t), value :: len
      end function
      type(c_ptr) function c_desc_adapter(d) bind(c, name="steerd_desc_adapter")
         import
         type(c_ptr), value :: d
      end function
      subroutine c_desc_destroy(dp) bind(c, name="steerd_desc_destroy")
         import
         type(c_ptr) :: dp
      end subroutine
      integer(c_int) function c_options_from_args(o, argc, argv, err, errlen) &
            bind(c, name="steerd_options_from_args")
         import
         type(c_options) :: o
         integer(c_int) :: argc
         type(c_ptr) :: argv(*)
         character(kind=c_char) :: err(*)
         integer(c_size_t), value :: errlen
      end function
      type(c_ptr) function c_open(desc, sim, o, err, errlen) bind(c, name="steerd_open")
         import
         type(c_ptr), value :: desc, sim
         type(c_options), intent(in) :: o
         character(kind=c_char) :: err(*)
         integer(c_size_t), value :: errlen
      end function
      integer(c_int) function c_boundary(s) bind(c, name="steerd_boundary")
         import
         type(c_ptr), value :: s
      end function
      subroutine c_step_failed(s, message) bind(c, name="steerd_step_failed")
         import
         type(c_ptr), value :: s
         character(kind=c_char), intent(in) :: message(*)
      end subroutine
      integer(c_int) function c_close(sp) bind(c, name="steerd_close")
         import
         type(c_ptr) :: sp
      end function
      subroutine steerd_request_stop() bind(c, name="steerd_request_stop")
      end subroutine
      subroutine c_log(level, message) bind(c, name="steerd_log")
         import
         integer(c_int), value :: level
         character(kind=c_char), intent(in) :: message(*)
      end subroutine
      type(c_ptr) function c_last_error() bind(c, name="steerd_last_error")
         import
      end function
      type(c_ptr) function c_version() bind(c, name="steerd_version")
         import
      end function
      integer(c_size_t) function c_strlen(s) bind(c, name="strlen")
         import
         type(c_ptr), value :: s
      end function
   end interface

contains

   ! A Fortran string as C wants it: trailing blanks off, NUL appended.
   pure function cstr(s) result(c)
      character(len=*), intent(in) :: s
      character(kind=c_char, len=len_trim(s) + 1) :: c
      c = trim(s) // c_null_char
   end function

   ! A C string (NUL-terminated, owned by C) as a Fortran string.
   function fstr(p) result(s)
      type(c_ptr), intent(in) :: p
      character(len=:), allocatable :: s
      character(kind=c_char), pointer :: chars(:)
      integer :: i
      if (.not. c_associated(p)) then
         s = ""
         return
      end if
      call c_f_pointer(p, chars, [c_strlen(p)])
      allocate (character(len=size(chars)) :: s)
      do i = 1, size(chars)
         s(i:i) = chars(i)
      end do
   end function

   ! The end of every call that can fail: stat, errmsg, or error stop.
   subroutine finish(rc, what, stat, errmsg)
      integer(c_int), intent(in) :: rc
      character(len=*), intent(in) :: what
      integer, intent(out), optional :: stat
      character(len=*), intent(out), optional :: errmsg
      character(len=:), allocatable :: msg
      if (present(stat)) stat = 0
      if (rc >= 0) return
      msg = steerd_last_error()
      if (present(errmsg)) errmsg = msg
      if (present(stat)) then
         stat = -1
      else
         write (error_unit, '(a)') what // ": " // msg
         error stop 70
      end if
   end subroutine

   function steerd_last_error() result(msg)
      character(len=:), allocatable :: msg
      msg = fstr(c_last_error())
   end function

   function steerd_version() result(v)
      character(len=:), allocatable :: v
      v = fstr(c_version())
   end function

   function steerd_desc_new(name, version, description, stat, errmsg) result(d)
      character(len=*), intent(in) :: name, version, description
      integer, intent(out), optional :: stat
      character(len=*), intent(out), optional :: errmsg
      type(steerd_descriptor) :: d
      d%p = c_desc_new(cstr(name), cstr(version), cstr(description))
      call finish(merge(0, -1, c_associated(d%p)), "steerd_desc_new", stat, errmsg)
   end function

   integer(c_int) function flag(b)
      logical, intent(in) :: b
      flag = merge(1, 0, b)
   end function

   subroutine knob_double(d, name, unit, min, max, runtime, description, var, stat, errmsg)
      type(steerd_descriptor), intent(in) :: d
      character(len=*), intent(in) :: name, unit, description
      real(c_double), intent(in) :: min, max
      logical, intent(in) :: runtime
      real(c_double), intent(inout), target :: var
      integer, intent(out), optional :: stat
      character(len=*), intent(out), optional :: errmsg
      call finish(c_knob_double(d%p, cstr(name), cstr(unit), min, max, flag(runtime), &
                                cstr(description), c_loc(var)), "steerd_knob", stat, errmsg)
   end subroutine

   subroutine knob_int32(d, name, unit, min, max, runtime, description, var, stat, errmsg)
      type(steerd_descriptor), intent(in) :: d
      character(len=*), intent(in) :: name, unit, description
      integer(c_int32_t), intent(in) :: min, max
      logical, intent(in) :: runtime
      integer(c_int32_t), intent(inout), target :: var
      integer, intent(out), optional :: stat
      character(len=*), intent(out), optional :: errmsg
      call finish(c_knob_int32(d%p, cstr(name), cstr(unit), min, max, flag(runtime), &
                               cstr(description), c_loc(var)), "steerd_knob", stat, errmsg)
   end subroutine

   subroutine knob_int64(d, name, unit, min, max, runtime, description, var, stat, errmsg)
      type(steerd_descriptor), intent(in) :: d
      character(len=*), intent(in) :: name, unit, description
      integer(c_int64_t), intent(in) :: min, max
      logical, intent(in) :: runtime
      integer(c_int64_t), intent(inout), target :: var
      integer, intent(out), optional :: stat
      character(len=*), intent(out), optional :: errmsg
      call finish(c_knob_int64(d%p, cstr(name), cstr(unit), min, max, flag(runtime), &
                               cstr(description), c_loc(var)), "steerd_knob", stat, errmsg)
   end subroutine

   subroutine steerd_scalar(d, name, unit, description, var, stat, errmsg)
      type(steerd_descriptor), intent(in) :: d
      character(len=*), intent(in) :: name, unit, description
      real(c_double), intent(in), target :: var
      integer, intent(out), optional :: stat
      character(len=*), intent(out), optional :: errmsg
      call finish(c_scalar(d%p, cstr(name), cstr(unit), cstr(description), c_loc(var)), &
                  "steerd_scalar", stat, errmsg)
   end subroutine

   ! n (optional): the count in use now, read at every boundary (at most size(data)).
   subroutine steerd_array(d, name, unit, description, data, axis, n, stat, errmsg)
      type(steerd_descriptor), intent(in) :: d
      character(len=*), intent(in) :: name, unit, description
      real(c_double), intent(in), target, contiguous :: data(:)
      character(len=*), intent(in), optional :: axis
      integer(c_int32_t), intent(in), target, optional :: n
      integer, intent(out), optional :: stat
      character(len=*), intent(out), optional :: errmsg
      character(kind=c_char, len=:), allocatable, target :: ax
      type(c_ptr) :: np, ap
      np = c_null_ptr
      ap = c_null_ptr
      if (present(n)) np = c_loc(n)
      if (present(axis)) then
         ax = cstr(axis)
         ap = c_loc(ax)
      end if
      call finish(c_array(d%p, cstr(name), cstr(unit), cstr(description), c_loc(data), &
                          size(data, kind=c_size_t), np, ap), "steerd_array", stat, errmsg)
   end subroutine

   subroutine steerd_clock(d, step, time, stat, errmsg)
      type(steerd_descriptor), intent(in) :: d
      integer(c_int64_t), intent(inout), target :: step
      real(c_double), intent(inout), target :: time
      integer, intent(out), optional :: stat
      character(len=*), intent(out), optional :: errmsg
      call finish(c_clock(d%p, c_loc(step), c_loc(time)), "steerd_clock", stat, errmsg)
   end subroutine

   subroutine state_f64(d, name, data, n, stat, errmsg)
      type(steerd_descriptor), intent(in) :: d
      character(len=*), intent(in) :: name
      real(c_double), intent(inout), target, contiguous :: data(:)
      integer(c_int32_t), intent(in), target, optional :: n
      integer, intent(out), optional :: stat
      character(len=*), intent(out), optional :: errmsg
      type(c_ptr) :: np
      np = c_null_ptr
      if (present(n)) np = c_loc(n)
      call finish(c_state_f64(d%p, cstr(name), c_loc(data), size(data, kind=c_size_t), np), &
                  "steerd_state", stat, errmsg)
   end subroutine

   subroutine state_i64(d, name, data, n, stat, errmsg)
      type(steerd_descriptor), intent(in) :: d
      character(len=*), intent(in) :: name
      integer(c_int64_t), intent(inout), target, contiguous :: data(:)
      integer(c_int32_t), intent(in), target, optional :: n
      integer, intent(out), optional :: stat
      character(len=*), intent(out), optional :: errmsg
      type(c_ptr) :: np
      np = c_null_ptr
      if (present(n)) np = c_loc(n)
      call finish(c_state_i64(d%p, cstr(name), c_loc(data), size(data, kind=c_size_t), np), &
                  "steerd_state", stat, errmsg)
   end subroutine

   subroutine steerd_desc_destroy(d)
      type(steerd_descriptor), intent(inout) :: d
      call c_desc_destroy(d%p)
   end subroutine

   ! Open steerd on the descriptor d. Options as steerd's: from the command
   ! line (-c/--config FILE, --connection-file PATH, --restart FILE|DIR,
   ! --log-level LEVEL; unless command_line is .false.), then the arguments
   ! given here, which win. handle_signals (default .true.): SIGINT/SIGTERM
   ! stop the run at the next boundary, SIGHUP reloads, as in the daemon.
   subroutine steerd_open(s, d, config, config_text, connection_file, restart, command_line, &
                          handle_signals, stat, errmsg)
      type(steerd_handle), intent(out) :: s
      type(steerd_descriptor), intent(in) :: d
      character(len=*), intent(in), optional :: config, config_text, connection_file, restart
      logical, intent(in), optional :: command_line, handle_signals
      integer, intent(out), optional :: stat
      character(len=*), intent(out), optional :: errmsg
      ! What the options point at lives until steerd_open has copied it.
      type(c_options) :: o
      character(kind=c_char, len=:), allocatable, target :: cfg, text, conn, rst
      type(c_arg), allocatable, target :: args(:)
      type(c_ptr), allocatable :: argv(:)
      character(kind=c_char, len=512) :: err
      type(c_ptr) :: desc
      integer(c_int) :: argc
      integer :: i, n
      logical :: use_command_line
      o = c_options(c_sizeof(o), c_null_ptr, c_null_ptr, c_null_ptr, c_null_ptr, 1, -1)
      err = c_null_char
      if (present(handle_signals)) o%handle_signals = flag(handle_signals)
      use_command_line = .true.
      if (present(command_line)) use_command_line = command_line
      if (use_command_line) then
         n = command_argument_count()
         allocate (args(0:n), argv(0:n + 1))
         do i = 0, n
            call get_argument(i, args(i)%s)
            argv(i) = c_loc(args(i)%s)
         end do
         argv(n + 1) = c_null_ptr
         argc = int(n + 1, c_int)
         if (c_options_from_args(o, argc, argv, err, len(err, kind=c_size_t)) < 0) then
            call fail_open(err, stat, errmsg)
            return
         end if
      end if
      if (present(config)) then
         cfg = cstr(config)
         o%config_path = c_loc(cfg)
      end if
      if (present(config_text)) then
         text = cstr(config_text)
         o%config_text = c_loc(text)
      end if
      if (present(connection_file)) then
         conn = cstr(connection_file)
         o%connection_file = c_loc(conn)
      end if
      if (present(restart)) then
         rst = cstr(restart)
         o%restart = c_loc(rst)
      end if
      desc = c_desc_adapter(d%p)
      if (.not. c_associated(desc)) then
         call finish(-1_c_int, "steerd_open", stat, errmsg)
         return
      end if
      s%p = c_open(desc, d%p, o, err, len(err, kind=c_size_t))
      if (.not. c_associated(s%p)) then
         call fail_open(err, stat, errmsg)
         return
      end if
      if (present(stat)) stat = 0
   end subroutine

   subroutine get_argument(i, s)
      integer, intent(in) :: i
      character(kind=c_char, len=:), allocatable, intent(out) :: s
      integer :: l
      call get_command_argument(i, length=l)
      allocate (character(kind=c_char, len=l + 1) :: s)
      call get_command_argument(i, s(1:l))
      s(l + 1:l + 1) = c_null_char
   end subroutine

   subroutine fail_open(err, stat, errmsg)
      character(kind=c_char, len=*), intent(in) :: err
      integer, intent(out), optional :: stat
      character(len=*), intent(out), optional :: errmsg
      integer :: e
      e = index(err, c_null_char) - 1
      if (e < 0) e = len(err)
      if (present(errmsg)) errmsg = err(1:e)
      if (present(stat)) then
         stat = -1
      else
         write (error_unit, '(a)') "steerd_open: " // err(1:e)
         error stop 70
      end if
   end subroutine

   ! STEERD_GO (take a step), STEERD_STOP (end the loop) or STEERD_ERROR.
   integer(c_int) function steerd_boundary(s)
      type(steerd_handle), intent(in) :: s
      steerd_boundary = c_boundary(s%p)
   end function

   subroutine steerd_step_failed(s, message)
      type(steerd_handle), intent(in) :: s
      character(len=*), intent(in) :: message
      call c_step_failed(s%p, cstr(message))
   end subroutine

   subroutine steerd_close(s, stat)
      type(steerd_handle), intent(inout) :: s
      integer, intent(out), optional :: stat
      integer(c_int) :: rc
      rc = c_close(s%p)
      if (present(stat)) stat = rc
   end subroutine

   subroutine steerd_log(level, message)
      integer(c_int), intent(in) :: level
      character(len=*), intent(in) :: message
      call c_log(level, cstr(message))
   end subroutine

end module steerd
