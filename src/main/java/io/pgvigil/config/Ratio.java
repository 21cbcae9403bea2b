package io.pgvigil.config;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import jakarta.validation.Constraint;
import jakarta.validation.Payload;
import jakarta.validation.ReportAsSingleViolation;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;

/** A ratio from 0 to 1, both included. NaN is refused (once: one message, not one per bound). */
@Documented
@DecimalMin("0")
@DecimalMax("1")
@ReportAsSingleViolation
@Constraint(validatedBy = {})
@Target({ ElementType.METHOD, ElementType.TYPE_USE })
@Retention(RetentionPolicy.RUNTIME)
public @interface Ratio {

    String message() default "is ${validatedValue}: must be a ratio from 0 to 1";

    Class<?>[] groups() default {};

    Class<? extends Payload>[] payload() default {};
}
