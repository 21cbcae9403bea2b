package io.pgvigil.config;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.math.BigInteger;

import jakarta.validation.Constraint;
import jakarta.validation.ConstraintValidator;
import jakarta.validation.ConstraintValidatorContext;
import jakarta.validation.Payload;

import org.hibernate.validator.constraintvalidation.HibernateConstraintValidatorContext;

import io.quarkus.runtime.configuration.MemorySize;

/**
 * A byte size ({@code 10M}, {@code 1G}) of at least {@link #value()} bytes. {@link MemorySize} has no
 * {@code toString}, so the message shows the size in bytes through the {@code bytes} parameter.
 */
@Documented
@Constraint(validatedBy = MinBytes.Check.class)
@Target({ ElementType.METHOD, ElementType.TYPE_USE })
@Retention(RetentionPolicy.RUNTIME)
public @interface MinBytes {

    long value();

    String message() default "is {bytes} bytes: must be at least {value} byte (a size such as 512K, 10M or 1G)";

    Class<?>[] groups() default {};

    Class<? extends Payload>[] payload() default {};

    class Check implements ConstraintValidator<MinBytes, MemorySize> {

        private BigInteger min;

        @Override
        public void initialize(MinBytes constraint) {
            min = BigInteger.valueOf(constraint.value());
        }

        @Override
        public boolean isValid(MemorySize value, ConstraintValidatorContext context) {
            if (value == null || value.asBigInteger().compareTo(min) >= 0) {
                return true;
            }
            context.unwrap(HibernateConstraintValidatorContext.class).addMessageParameter("bytes", value.asBigInteger());
            return false;
        }
    }
}
